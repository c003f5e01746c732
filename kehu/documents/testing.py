"""Test helpers of documents."""

# The smallest file the PDF check accepts: the magic bytes and an end marker.
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

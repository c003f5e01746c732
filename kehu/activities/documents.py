"""Document storage: generated names under the data folder, size and type limits."""

from __future__ import annotations

# Types shown inline as a preview; everything else is only ever downloaded. No SVG: it
# can carry script.
PREVIEWABLE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

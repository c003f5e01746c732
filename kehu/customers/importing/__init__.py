"""The spreadsheet import engine: ``files`` (upload storage, format, encoding, reading),
``mapping`` (fields and header mapping), ``processor`` (the row processor) and ``report``
(rejected rows). Its services are ``kehu.customers.services.imports``.
"""

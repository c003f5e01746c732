"""Search indexes for customers and contacts (see kehu.customers.search).

PostgreSQL: a pg_trgm GIN index on ``search_text`` (substrings of three characters or
more) and a GIN index on the array of ``search_grams`` (one- and two-character queries,
which yield no trigrams). SQLite: the same two as FTS5 tables (``trigram`` and
``unicode61`` tokenizers) kept in step with the table by triggers.
"""

from django.db import migrations

TABLES = ("customers_customer", "customers_contact")


def _sqlite_statements(table: str) -> list[str]:
    statements = []
    for suffix, column, tokenizer in (("trgm", "search_text", "trigram"),
                                      ("grams", "search_grams", "unicode61")):
        fts = f"{table}_{suffix}"
        statements += [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
            f"content_rowid='id', tokenize='{tokenizer}')",
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            f"END",
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        ]
    return statements


def _postgresql_statements(table: str) -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS {table}_trgm ON {table} USING gin (search_text gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS {table}_grams ON {table} "
        f"USING gin (string_to_array(search_grams, ' '))",
    ]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in TABLES:
            for sql in _postgresql_statements(table):
                schema_editor.execute(sql)
    elif vendor == "sqlite":
        for table in TABLES:
            for sql in _sqlite_statements(table):
                schema_editor.execute(sql)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_trgm")
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_grams")
        elif vendor == "sqlite":
            for suffix in ("trgm", "grams"):
                for trigger in ("ai", "ad", "au"):
                    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}_{trigger}")
                schema_editor.execute(f"DROP TABLE IF EXISTS {table}_{suffix}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]

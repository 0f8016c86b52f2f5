"""Alembic environment of the audit store. Run programmatically (`AuditStore.migrate`), which passes an open
connection in `config.attributes["connection"]`; from the command line the URL is `sqlalchemy.url`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from divert.serving.audit.models import Base

VERSION_TABLE = "audit_alembic_version"

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
else:
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                          literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(str(url))
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=Base.metadata, version_table=VERSION_TABLE)
            with context.begin_transaction():
                context.run_migrations()

"""Every table of the ledger database in one metadata: the ledger's own (``models.py``), the staff
app's (``staff_models.py``) and the duty alerts' (``duty_models.py``), which share its ``Base``. What
works on all the tables — the migrations, the key rotation, the purge's search for references,
``drop_everything`` — reads them here, so none misses a table whose module nobody happened to import."""

from __future__ import annotations

from sqlalchemy import MetaData

from ledger import duty_models, staff_models  # noqa: F401  (their tables register on Base.metadata)
from ledger.models import Base

METADATA: MetaData = Base.metadata

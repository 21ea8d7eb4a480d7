"""The priority-care ledger (重点关爱服务对象信息台账): models, migrations, services."""

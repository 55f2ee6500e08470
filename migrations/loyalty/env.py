from migrations.env_common import run
from services.loyalty.tables import metadata

run(metadata)

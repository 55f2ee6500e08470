from migrations.env_common import run
from services.identity.tables import metadata

run(metadata)

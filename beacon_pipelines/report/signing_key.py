"""Where the key that signs a report's manifest.json comes from (manifest.py signs with it).

The one variable holding it, read with dagster.EnvVar in Dagster and os.environ in the CLI; its
value never leaves memory. Apart from manifest.py so that the Dagster resources naming it do not
import the report's pandas.
"""

SIGNING_KEY_ENV = "BEACON_SIGNING_KEY"

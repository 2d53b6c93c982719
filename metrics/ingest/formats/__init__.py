"""The shipped readers of non-native deliveries (see ``metrics.ingest.readers``).

Each module registers its reader(s) with ``@register("<format>")`` on import; importing this
package imports them all, so a format is found by the name a mapping file gives it.
"""

from metrics.ingest.formats import (
    mapped,  # noqa: F401
    xlsx,  # noqa: F401
)

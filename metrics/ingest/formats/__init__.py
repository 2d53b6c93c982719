"""The shipped readers of non-native deliveries (see ``metrics.ingest.readers``).

Each module registers its reader(s) with ``@register("<format>")`` on import; importing this
package imports them all, so a format is found by the name a mapping file gives it.
"""

from metrics.ingest.formats import cin_census, mapped, ons_mye, ssda903, xlsx

__all__ = ["cin_census", "mapped", "ons_mye", "ssda903", "xlsx"]

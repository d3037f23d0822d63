"""The release that this checkout must upgrade from, and run beside (see the README's "Upgrading").

Move it forward at each release, to the commit of the release now in production: the
migrations of that commit become the ones that may never change.
"""

UPGRADE_REFERENCE = "bf7a7cd"

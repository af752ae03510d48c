# Nova on native threads before anything of this package imports nova.
import tests.nova_side  # noqa: F401

import os

from omega_v2 import interrupts

interrupts.for_command()  # first: a signal during the command's imports is reported, never a traceback

# A command validates only omega-v2's own config models, which no pydantic plugin has a use for,
# and finding plugins reads every installed package's metadata (~20 ms of each command). A
# setting of the user's own wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from omega_v2.cli import console  # noqa: E402

console()

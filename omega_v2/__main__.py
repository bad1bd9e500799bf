from omega_v2 import interrupts

interrupts.for_command()  # first: a signal during the command's imports is reported, never a traceback

from omega_v2.cli import console  # noqa: E402

console()

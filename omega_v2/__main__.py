from omega_v2.cli import console

console()

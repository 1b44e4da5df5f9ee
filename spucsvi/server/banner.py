"""The startup banner of the original SPUCSVi, printed once per server start."""

LOGO = r"""
      .-'''-. .-------.   ___    _     _______      .-'''-. ,---.  ,---..-./`)
     / _     \\  _(`)_ \.'   |  | |   /   __  \    / _     \|   /  |   |\ .-.')
    (`' )/`--'| (_ o._)||   .'  | |  | ,_/  \__)  (`' )/`--'|  |   |  .'/ `-' \
   (_ o _).   |  (_,_) /.'  '_  | |,-./  )       (_ o _).   |  | _ |  |  `-'`"`
    (_,_). '. |   '-.-' '   ( \.-.|\  '_ '`)      (_,_). '. |  _( )_  |  .---.
   .---.  \  :|   |     ' (`. _` /| > (_)  )  __ .---.  \  :\ (_ o._) /  |   |
   \    `-'  ||   |     | (_ (_) _)(  .  .-'_/  )\    `-'  | \ (_,_) /   |   |
    \       / /   )      \ /  . \ / `-'`-'     /  \       /   \     /    |   |
     `-...-'  `---'       ``-'`-''    `._____.'    `-...-'     `---`     '---'
"""


def banner(host: str = "localhost", port: int = 8322) -> str:
    """The logo and the address, as the lesson's logs show them."""
    return f"{LOGO}\n    :::: SPUC Super Visualizer serving on {host}:{port} ::::\n"

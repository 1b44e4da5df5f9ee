from spucsvi.server.cli import main

main()

from spucsvi.cli import main

main()

from mediactl.cli import main

main()

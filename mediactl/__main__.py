from mediactl.launcher import main

main()

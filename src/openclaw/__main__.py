from openclaw.cli import main

main()

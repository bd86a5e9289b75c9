from stenograph.cli.app import main

main()

from stenograph.cli import main

main()

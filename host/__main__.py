from host.cli import console_main

console_main()

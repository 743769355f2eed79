// chronoscale: the command line (app/cli/run_cli.cpp builds and runs it).
#include "commands.h"

int main(int argc, char** argv) { return chronoscale::cli::RunCli(argc, argv); }

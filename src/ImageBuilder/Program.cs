// Entry point of the `appliance` CLI: builds the command tree and runs it.
using Appliance.ImageBuilder.Cli;
using Appliance.ImageBuilder.IO;

// Ctrl-C, SIGTERM and SIGHUP remove temporary files and unfinished outputs before the process ends. The libraries do
// not know about it: every atomic write reports its temporary file here.
InterruptCleanup.Install();
AtomicFile.Tracker = InterruptCleanup.Tracker;
int code = CliRoot.Run(args, Console.Out, Console.Error);
InterruptCleanup.Close(); // waits here instead if a signal is ending the process
return code;

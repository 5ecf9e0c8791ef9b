// Entry point of the `appliance` CLI: builds the command tree and runs it.
using Appliance.ImageBuilder.Cli;

return CliRoot.Run(args, Console.Out, Console.Error);

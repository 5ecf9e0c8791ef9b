// What a command's logic needs from the outside world, so tests can substitute it.
namespace Appliance.ImageBuilder.Cli;

/// <summary>Standard streams and environment for one CLI invocation.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, Func<string, string?> GetEnvironment);

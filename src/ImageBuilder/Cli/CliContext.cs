// What a command's logic needs from the outside world, so tests can substitute it.
namespace Appliance.ImageBuilder.Cli;

/// <summary>Standard streams and environment for one CLI invocation.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, Func<string, string?> GetEnvironment)
{
    /// <summary>A context on the process's real console and environment.</summary>
    public static CliContext FromConsole() => new(Console.Out, Console.Error, Environment.GetEnvironmentVariable);
}

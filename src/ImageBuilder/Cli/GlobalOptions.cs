// Options that every verb accepts: --verbose and --output.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli;

/// <summary>Options recognised on every command.</summary>
public static class GlobalOptions
{
    /// <summary>Show stack traces and debug detail.</summary>
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show debug detail, and stack traces on failure",
        Recursive = true,
    };

    /// <summary>Output format for commands that print data.</summary>
    public static readonly Option<OutputFormat> Output = CreateOutput();

    private static Option<OutputFormat> CreateOutput()
    {
        var o = new Option<OutputFormat>("--output", "-o")
        {
            Description = "Output format for commands that print data: text or json",
            DefaultValueFactory = _ => OutputFormat.Text,
        };
        return o;
    }
}

/// <summary>How a command prints its data.</summary>
public enum OutputFormat
{
    /// <summary>Human-readable text.</summary>
    Text,
    /// <summary>Machine-readable JSON on stdout.</summary>
    Json,
}

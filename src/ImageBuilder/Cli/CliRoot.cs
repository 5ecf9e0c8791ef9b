// The `appliance` command tree, and the one place where failures become exit codes.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli;

/// <summary>Builds and runs the root command.</summary>
public static class CliRoot
{
    /// <summary>
    /// Every verb, by its definition. Add a verb here only when it works.
    /// </summary>
    private static IEnumerable<Command> Verbs(CliContext ctx) =>
    [
        Store.StoreCommandDefinition.Create(ctx),
        Profile.ProfileCommandDefinition.Create(ctx),
        Build.BuildCommandDefinition.Create(ctx),
        Key.KeyCommandDefinition.Create(ctx),
        Cluster.ClusterCommandDefinition.Create(ctx),
        Sign.SignCommandDefinition.Create(ctx),
        Verify.VerifyCommandDefinition.Create(ctx),
        Sbom.SbomCommandDefinition.Create(ctx),
        Inspect.InspectCommandDefinition.Create(ctx),
    ];

    /// <summary>Creates the root command for the given context.</summary>
    public static RootCommand Create(CliContext ctx)
    {
        var root = new RootCommand("appliance: build signed, bootable disk images for air-gapped edge sites");
        root.Options.Add(GlobalOptions.Verbose);
        foreach (var verb in Verbs(ctx))
            root.Subcommands.Add(verb);
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var ctx = new CliContext(stdout, stderr, Environment.GetEnvironmentVariable);
        return Run(args, ctx);
    }

    /// <summary>Parses and runs <paramref name="args"/> in <paramref name="ctx"/>.</summary>
    public static int Run(string[] args, CliContext ctx)
    {
        var root = Create(ctx);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
                ctx.Error.WriteLine($"appliance: {e.Message}");
            ctx.Error.WriteLine("Run 'appliance --help' for usage.");
            return ExitCodes.BadInput;
        }
        var verbose = parse.GetValue(GlobalOptions.Verbose);
        var config = new InvocationConfiguration
        {
            Output = ctx.Out,
            Error = ctx.Error,
            EnableDefaultExceptionHandler = false,
            // The commands run synchronously and do not watch a cancellation token: a signal ends the process after
            // IO.InterruptCleanup has removed temporary files (see Program.cs), instead of being held back here.
            ProcessTerminationTimeout = null,
        };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception ex)
        {
            return ReportFailure(ex, verbose, ctx.Error);
        }
    }

    /// <summary>Turns an exception into one line on stderr and an exit code.</summary>
    public static int ReportFailure(Exception ex, bool verbose, TextWriter stderr)
    {
        IO.InterruptCleanup.ParkIfStopping(); // the failure is the interrupt's doing (files deleted under the command)

        while (ex is AggregateException { InnerExceptions.Count: 1 } agg)
            ex = agg.InnerExceptions[0];
        int code = ex switch
        {
            UserInputException => ExitCodes.BadInput,
            InvalidDataException => ExitCodes.BadInput,
            Oci.PlatformNotFoundException => ExitCodes.BadInput,
            Disk.Image.PartitionContentException => ExitCodes.BadInput, // the content does not go on its partition: the input's fault
            FileNotFoundException => ExitCodes.BadInput,
            DirectoryNotFoundException => ExitCodes.BadInput,
            _ => ExitCodes.Failure,
        };
        stderr.WriteLine($"appliance: {ex.Message}");
        if (ex is UserInputException u)
            foreach (var line in u.Details)
                stderr.WriteLine(line);
        if (verbose)
            stderr.WriteLine(ex.ToString());
        return code;
    }
}

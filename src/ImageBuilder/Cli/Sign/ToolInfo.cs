// The running tool's version and the build's SOURCE_DATE_EPOCH, as the signing verbs record them.
using System.Globalization;
using System.Reflection;

namespace Appliance.ImageBuilder.Cli.Sign;

/// <summary>Facts about this build of <c>appliance</c> and its environment.</summary>
internal static class ToolInfo
{
    /// <summary>The informational version, e.g. <c>0.1.0+abc123</c>.</summary>
    public static string Version =>
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>SOURCE_DATE_EPOCH from the environment, when set; a malformed value is bad input.</summary>
    public static long? SourceDateEpoch(CliContext ctx) => IO.SourceDateEpoch.Read(ctx.GetEnvironment);
}

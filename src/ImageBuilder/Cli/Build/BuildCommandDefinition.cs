// The `appliance build` verb: options and wiring.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Build;

/// <summary>Defines <c>appliance build PROFILE -o DIR</c>.</summary>
public static class BuildCommandDefinition
{
    /// <summary>The site profile to build.</summary>
    public static readonly Argument<string> Profile = new("PROFILE") { Description = "Site profile file (YAML)" };

    /// <summary>-o DIR: where NAME.img and NAME.manifest.json go.</summary>
    public static readonly Option<string> OutDir = new("--out-dir", "-o")
    {
        Description = "Directory for NAME.img and NAME.manifest.json",
        Required = true,
    };

    /// <summary>--store DIR.</summary>
    public static readonly Option<string?> StoreDir = new("--store")
    {
        Description = "Content store directory (default: $APPLIANCE_STORE, else ${XDG_DATA_HOME:-~/.local/share}/appliance/store)",
    };

    /// <summary>--api-server URL: the server address in NAME.kubeconfig.</summary>
    public static readonly Option<string?> ApiServer = new("--api-server")
    {
        Description = "API server URL written into NAME.kubeconfig of a server site with cluster.pki (default: https://FIRST-STATIC-ADDRESS:6443, or https://HOSTNAME:6443 with DHCP)",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(CliContext ctx)
    {
        var build = new Command("build", "Build a site's bootable disk image from its profile and the content store (works offline)")
        {
            Profile, OutDir, StoreDir, ApiServer,
        };
        build.SetAction(p => new BuildCommand(ctx, p.GetValue(GlobalOptions.Verbose))
            .Execute(p.GetValue(Profile)!, p.GetValue(OutDir)!, p.GetValue(StoreDir), p.GetValue(ApiServer)));
        return build;
    }
}

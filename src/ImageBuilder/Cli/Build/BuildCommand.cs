// `appliance build`: loads and checks the profile, runs the build pipeline, reports progress and the result.
using System.Diagnostics;
using System.Globalization;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Cli.Key;
using Appliance.ImageBuilder.Cli.Profile;
using Appliance.ImageBuilder.Cli.Sign;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Cli.Build;

/// <summary>Runs one build. Progress goes to stderr, one line per step with the elapsed time; the result to stdout.</summary>
public sealed class BuildCommand(CliContext ctx, bool verbose)
{
    /// <summary>Builds <paramref name="profileFile"/> into <paramref name="outDir"/>; returns the exit code.</summary>
    public int Execute(string profileFile, string outDir, string? storeDir, string? apiServer = null)
    {
        Uri? apiServerUrl = null;
        if (apiServer is not null && (!Uri.TryCreate(apiServer, UriKind.Absolute, out apiServerUrl) || apiServerUrl.Scheme != Uri.UriSchemeHttps
                                      || apiServerUrl.AbsolutePath != "/" || apiServerUrl.Query.Length > 0))
            throw new UserInputException($"--api-server: '{apiServer}' is not an https URL such as https://192.168.1.10:6443");
        var loaded = ProfileLoading.Load(ctx, profileFile, verbose);
        if (!loaded.IsValid)
        {
            ProfileLoading.WriteProblems(ctx.Error, loaded);
            throw new UserInputException($"{profileFile}: {loaded.Problems.Count} problem(s) in the profile; nothing was built");
        }
        long? sde = SourceDateEpoch.Read(ctx.GetEnvironment);
        var store = Appliance.ImageBuilder.Store.StoreLocation.Resolve(storeDir, ctx.GetEnvironment);
        var clock = Stopwatch.StartNew();
        void Progress(string line) => ctx.Error.WriteLine($"build [{clock.Elapsed.TotalSeconds,6:F1}s] {line}");
        using var key = UnlockKey(profileFile, loaded.Profile!.Signing?.Key);
        if (key != null)
            Progress($"signing key {key.Id} unlocked");
        // The command layer owns the signal cleanup: the build's scratch directory is removed on SIGINT/SIGTERM/SIGHUP.
        var work = Directory.CreateTempSubdirectory("appliance-build-");
        BuildResult result;
        using (InterruptCleanup.Register(work.FullName))
        {
            try
            {
                result = new ImageBuild(Appliance.ImageBuilder.Store.ContentStore.Open(store), Progress)
                    .Run(new BuildRequest(profileFile, outDir, sde, key, ToolInfo.Version) { WorkDirectory = work.FullName, ApiServer = apiServerUrl }, loaded);
            }
            finally
            {
                // Best effort: the signal cleanup may have removed it already, and this must not hide the build's error.
                try { work.Delete(recursive: true); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
        var m = result.Manifest;
        ctx.Out.WriteLine($"{result.ImagePath}: {m.Root.Board}, {m.PartitionTable}, {m.Size} bytes, kernel {m.Root.Kernel}");
        foreach (var p in m.Partitions)
            ctx.Out.WriteLine($"  {p.Number} {p.Name,-7} offset {p.Offset,12} size {p.Size,12} used {p.ContentBytes,12} {p.Sha256 ?? "(empty)"}");
        ctx.Out.WriteLine($"{result.ManifestPath}");
        ctx.Out.WriteLine($"{result.SbomPath}");
        if (result.IsoPath is { } iso)
            ctx.Out.WriteLine($"{iso}: {new FileInfo(iso).Length} bytes, sha256 {Convert.ToHexStringLower(result.IsoSha256!)} (live + installer)");
        foreach (var b in result.Bundles)
            ctx.Out.WriteLine(b);
        if (result.KubeconfigPath is { } kubeconfig)
            ctx.Out.WriteLine($"{kubeconfig} (admin kubeconfig, 0600)");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Opens the profile's signing key before any build work, so a missing key file, a missing password or a
    /// wrong one stops the build (exit 2) before anything is written. Null when the profile names no key.
    /// </summary>
    private SigningKey? UnlockKey(string profileFile, Appliance.ImageBuilder.Profiles.Model.ProfilePath? keyPath)
    {
        if (keyPath is null)
            return null;
        var path = keyPath.FullPath;
        if (!File.Exists(path))
            throw new UserInputException($"{profileFile}: signing.key '{keyPath.Written}': {path} not found (make a key pair with 'appliance key generate -o DIR'); nothing was built");
        var password = KeyPassword.Get(ctx, $"Password for {path}: ", confirm: false);
        try
        {
            return SigningKey.ReadPem(path, password);
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException($"{profileFile}: signing.key: {e.Message}; nothing was built", e);
        }
    }
}

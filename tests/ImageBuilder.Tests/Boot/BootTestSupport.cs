// Shared by the boot tests: OS images from the kit, a content store, built images (once per run), qemu.
using System.Collections.Concurrent;
using System.Diagnostics;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>One built image and where it came from.</summary>
public sealed record BuiltImage(string Board, string ImagePath, string ManifestPath, string BuildLog, TimeSpan BuildTime);

/// <summary>
/// OS images come from kits/debian/make-os-image.sh (cached under ~/.cache/appliance, so a warm run
/// downloads nothing); they are added to one content store per test run, and each board's image is built
/// once per run and shared by the tests that read it. Everything lives in one temp directory deleted at exit.
/// </summary>
public static class BootTestSupport
{
    private static readonly Lazy<string> Work = new(() =>
    {
        var dir = new TempDir("appliance-boot-tests-");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        return dir.Path;
    });
    private static readonly ConcurrentDictionary<string, Lazy<(string? Path, string Why)>> OsImages = new();
    private static readonly ConcurrentDictionary<string, Lazy<BuiltImage>> Images = new();
    private static readonly object StoreLock = new();
    private static readonly HashSet<string> Added = [];

    private static readonly Lazy<string> Key = new(() =>
    {
        var dir = Path.Combine(Work.Value, "keys");
        using var key = Appliance.ImageBuilder.Signing.Keys.SigningKey.Generate();
        var files = Appliance.ImageBuilder.Signing.Keys.KeyPairFiles.In(dir);
        files.Write(key, KeyPassword);
        return files.PrivateKeyPath;
    });

    /// <summary>The password of <see cref="SigningKeyPath"/>.</summary>
    public const string KeyPassword = "boot-test-key-password";

    /// <summary>The environment a signed build runs with.</summary>
    public static IReadOnlyDictionary<string, string?> SigningEnv { get; } = new Dictionary<string, string?> { ["APPLIANCE_KEY_PASSWORD"] = KeyPassword };

    /// <summary>The encrypted private key (made once per run) that signs the standard images.</summary>
    public static string SigningKeyPath => Key.Value;

    /// <summary>The public key of <see cref="SigningKeyPath"/>.</summary>
    public static string PublicKeyPath => Path.ChangeExtension(Key.Value, ".pub");

    /// <summary>The repository root (where Appliance.sln is).</summary>
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d != null && !File.Exists(Path.Combine(d.FullName, "Appliance.sln"))) d = d.Parent;
            return d?.FullName ?? throw new InvalidOperationException("Appliance.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The shared work directory of this test run.</summary>
    public static string WorkDir => Work.Value;

    /// <summary>The content store of this test run.</summary>
    public static string StoreDir => Path.Combine(Work.Value, "store");

    /// <summary>The Debian architecture (the kit's ARCH) of a board's platform: arm/v7 is armhf, the others keep their name.</summary>
    public static string ArchOf(string board) => Board.Get(board).Platform.Architecture switch
    {
        "arm" => "armhf",
        var arch => arch,
    };

    /// <summary>The store name of the kit's OS image for <paramref name="arch"/>.</summary>
    public static string OsRef(string arch) => $"appliance/os-debian:bookworm-{arch}";

    /// <summary>Runs the kit for <paramref name="arch"/> (once per run) and adds the image to the store; skips the test when the kit cannot run.</summary>
    public static void RequireOsImage(string arch)
    {
        foreach (var tool in new[] { "apt-get", "dpkg-deb", "jq", "depmod" })
            if (DiskTools.Find(tool) is null) Assert.Skip($"kits/debian/make-os-image.sh needs {tool}");
        var (path, why) = OsImages.GetOrAdd(arch, a => new Lazy<(string?, string)>(() => RunKit(a))).Value;
        if (path is null) Assert.Skip(why);
        lock (StoreLock)
        {
            if (Added.Contains(arch)) return;
            var r = CliRunner.Run("store", "add", "--store", StoreDir, "--name", OsRef(arch), path);
            Assert.True(r.ExitCode == 0, r.Error);
            Added.Add(arch);
        }
    }

    private static (string?, string) RunKit(string arch)
    {
        // The kit's default output, under APPLIANCE_CACHE when it is set (as the kit itself reads it).
        var cache = Environment.GetEnvironmentVariable("APPLIANCE_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".cache", "appliance");
        var outPath = Path.Combine(cache, "os-images", $"debian-bookworm-{arch}.oci.tar");
        ProcessResult r;
        try
        {
            r = ProcessRunner.Run("bash", [Path.Combine(RepoRoot, "kits", "debian", "make-os-image.sh"), arch], new ProcessOptions { Timeout = TimeSpan.FromMinutes(10) });
        }
        catch (TimeoutException)
        {
            return (null, $"kits/debian/make-os-image.sh {arch} did not finish in 10 minutes");
        }
        return r.ExitCode == 0 && File.Exists(outPath)
            ? (outPath, "")
            : (null, $"kits/debian/make-os-image.sh {arch} failed (exit {r.ExitCode}; the Debian archive is needed on a cold cache): {r.Error.Trim().Split('\n').LastOrDefault()}");
    }

    /// <summary>The target.diskSize of the standard profiles: the smallest disk their images go on.</summary>
    public const long StandardDiskSize = 2L << 30;

    private static readonly Lazy<(string? Version, string Why)> Release = new(AddRelease);

    /// <summary>
    /// The published runtime release (kits/runtime/publish.sh: <c>$APPLIANCE_RUNTIME_IMAGE</c>, else
    /// out/runtime/appliance-runtime.oci.tar; tests/run.sh publishes it), added to the store once per run. Returns its
    /// version (the tag of appliance/runtime:VERSION); skips the test when it has not been published.
    /// </summary>
    public static string RequireRuntimeRelease()
    {
        var (version, why) = Release.Value;
        if (version is null) Assert.Skip(why);
        return version;
    }

    /// <summary>The runtime release archive the boot tests use: <c>$APPLIANCE_RUNTIME_IMAGE</c>, else out/runtime/appliance-runtime.oci.tar.</summary>
    public static string ReleaseArchive => Environment.GetEnvironmentVariable("APPLIANCE_RUNTIME_IMAGE") is { Length: > 0 } given
        ? given : Path.Combine(RepoRoot, "out", "runtime", "appliance-runtime.oci.tar");

    private static (string?, string) AddRelease()
    {
        var archive = ReleaseArchive;
        if (!File.Exists(archive))
            return (null, $"the runtime release {archive} is not published: bash kits/runtime/publish.sh (a whole tests/run.sh does it)");
        string? name = null;
        using (var reader = new System.Formats.Tar.TarReader(File.OpenRead(archive)))
            while (reader.GetNextEntry() is { } e)
                if (e.Name == "index.json" && e.DataStream is { } data)
                    name = (string?)System.Text.Json.Nodes.JsonNode.Parse(data)!["manifests"]![0]!["annotations"]!["io.containerd.image.name"];
        if (name is null || !name.StartsWith("appliance/runtime:", StringComparison.Ordinal))
            return (null, $"{archive} is not a runtime release (its index.json names {name ?? "nothing"})");
        lock (StoreLock)
        {
            var r = CliRunner.Run("store", "add", "--store", StoreDir, archive);
            Assert.True(r.ExitCode == 0, r.Error);
        }
        return (name["appliance/runtime:".Length..], "");
    }

    /// <summary>
    /// Whether the published release serves <paramref name="board"/>: not the armv7 boards, since the linux-arm .NET packs
    /// are not served here. Their test images say <c>runtime.absent: true</c> (kits/runtime/README.md).
    /// </summary>
    public static bool HasRelease(string board) => Board.Get(board).Platform.Architecture != "arm";

    /// <summary>
    /// A profile for <paramref name="board"/>, written under the work directory (an agent's with <paramref name="role"/>
    /// <c>agent</c> and the <paramref name="server"/> it joins; <paramref name="extraYaml"/>: more top-level sections). Its runtime is the published release
    /// (added to the store), or <c>absent: true</c> for a board the release does not serve (<see cref="HasRelease"/>).
    /// </summary>
    public static string WriteProfile(string name, string board, string diskSize = "2GiB", string? osRef = null, string hostname = "node1", string token = "demo-token-0123456789", string? signingKey = null,
        string format = "raw", string role = "server", string? server = null, string? extraYaml = null)
    {
        var dir = Path.Combine(Work.Value, "profiles", name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "token"), token + "\n");
        var runtime = HasRelease(board) ? "version: " + RequireRuntimeRelease() : "absent: true";
        var yaml = $"""
            apiVersion: appliance/v1
            kind: SiteProfile
            metadata:
              name: {name}
            target:
              board: {board}
              format: {format}
              diskSize: {diskSize}
            os:
              image: {osRef ?? OsRef(ArchOf(board))}
            runtime:
              {runtime}
            node:
              role: {role}
              hostname: {hostname}
            cluster:
              tokenFile: token
            """;
        if (server != null)
            yaml += $"\n  server: {server}";
        if (extraYaml != null)
            yaml += "\n" + extraYaml.TrimEnd('\n');
        if (signingKey != null)
            yaml += $"\nsigning:\n  key: {signingKey}";
        var file = Path.Combine(dir, "profile.yaml");
        File.WriteAllText(file, yaml + "\n");
        return file;
    }

    /// <summary>The site name of a board's standard test image ("test-x86-64-uefi").</summary>
    public static string SiteName(string board) => "test-" + board.Replace('_', '-');

    /// <summary>The profile of a board's standard image: signed with <see cref="SigningKeyPath"/>.</summary>
    public static string StandardProfile(string board) => WriteProfile(SiteName(board), board, signingKey: SigningKeyPath);

    /// <summary>Builds (once per run) the standard image of <paramref name="board"/>, signed.</summary>
    public static BuiltImage Image(string board)
    {
        RequireOsImage(ArchOf(board));
        return Images.GetOrAdd(board, b => new Lazy<BuiltImage>(() => Build(SiteName(b), StandardProfile(b), Path.Combine(Work.Value, "out", b), SigningEnv))).Value;
    }

    /// <summary>Runs <c>appliance build</c> in-process and asserts success.</summary>
    public static BuiltImage Build(string name, string profile, string outDir, IReadOnlyDictionary<string, string?>? env = null)
    {
        var sw = Stopwatch.StartNew();
        var r = CliRunner.Run(env, "build", profile, "-o", outDir, "--store", StoreDir);
        sw.Stop();
        Assert.True(r.ExitCode == 0, $"appliance build failed ({r.ExitCode}):\n{r.Error}");
        var img = Path.Combine(outDir, name + ".img");
        Assert.True(File.Exists(img), img);
        return new BuiltImage(name, img, Path.Combine(outDir, name + ".manifest.json"), r.Error, sw.Elapsed);
    }

    /// <summary>A TCP port on 127.0.0.1 that nothing listens on now (for a VM's forwarded port or socket network).</summary>
    public static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Kills the qemu whose pid <paramref name="pidFile"/> holds, if it still runs (a test's cleanup after a failure).</summary>
    public static void StopVm(string pidFile)
    {
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) return;
        try { using var p = Process.GetProcessById(pid); p.Kill(); p.WaitForExit(10_000); }
        catch (ArgumentException) { }
        catch (InvalidOperationException) { }
    }

    /// <summary>Skips the test unless every tool is installed.</summary>
    public static void RequireTools(params string[] tools)
    {
        foreach (var t in tools)
            if (DiskTools.Find(t) is null) Assert.Skip($"{t} is not installed (see .ci/packages.d/boot.txt)");
    }

    /// <summary>Copies a file out of the FAT partition at <paramref name="offset"/> of <paramref name="image"/> with mtools.</summary>
    public static byte[] ReadFatFile(string image, long offset, string path)
    {
        var dest = Path.Combine(Work.Value, "mcopy-" + Guid.NewGuid().ToString("N"));
        try
        {
            DiskTools.Run("mcopy", ["-n", "-i", $"{image}@@{offset}", "::" + path, dest]);
            return File.ReadAllBytes(dest);
        }
        finally { File.Delete(dest); }
    }

    /// <summary>Every file of the FAT partition at <paramref name="offset"/> with its SHA-256 (mtools).</summary>
    public static SortedDictionary<string, string> FatDigests(string image, long offset)
    {
        using var dest = new TempDir("fat-");
        DiskTools.Run("mcopy", ["-s", "-n", "-m", "-i", $"{image}@@{offset}", "::/", dest.Path]);
        return DiskTools.FileDigests(dest.Path);
    }

    /// <summary>Takes <paramref name="paths"/> out of the image's root-a with unsquashfs into a new directory, and returns it.</summary>
    public static string RootAFiles(BuiltImage image, params string[] paths)
    {
        RequireTools("unsquashfs");
        var dest = Path.Combine(Work.Value, "root-a-" + Guid.NewGuid().ToString("N"));
        DiskTools.Run("unsquashfs", ["-no-progress", "-o", Partitions(image)["root-a"].Offset.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-d", dest, image.ImagePath, .. paths]);
        return dest;
    }

    /// <summary>The partition offsets from the build manifest, by name.</summary>
    public static Dictionary<string, (long Offset, long Size, string? Sha256)> Partitions(BuiltImage image)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(image.ManifestPath));
        return doc.RootElement.GetProperty("partitions").EnumerateArray().ToDictionary(
            p => p.GetProperty("name").GetString()!,
            p => (p.GetProperty("offset").GetInt64(), p.GetProperty("size").GetInt64(),
                  p.GetProperty("sha256").ValueKind == System.Text.Json.JsonValueKind.String ? p.GetProperty("sha256").GetString() : null));
    }
}

/// <summary>Runs qemu until a marker appears on the serial console, then stops it.</summary>
public static class Qemu
{
    /// <summary>The outcome of one boot.</summary>
    public sealed record BootResult(bool Found, TimeSpan Elapsed, int? ExitCode, string Log);

    /// <summary>Starts <paramref name="qemu"/> with <paramref name="args"/>; returns when <paramref name="marker"/> is printed (and, with <paramref name="waitExit"/>, qemu has exited), or at the timeout.</summary>
    public static BootResult BootToMarker(string qemu, IEnumerable<string> args, string marker, TimeSpan timeout, bool waitExit = false)
    {
        var sw = Stopwatch.StartNew();
        using var p = ProcessRunner.Start(qemu, args);
        var ok = p.WaitUntilAsync(q => q.Out.Contains(marker, StringComparison.Ordinal) || q.Error.Contains(marker, StringComparison.Ordinal), timeout)
            .GetAwaiter().GetResult();
        var at = sw.Elapsed;
        int? exit = null;
        if (ok && waitExit && p.WaitUntilAsync(q => q.HasExited, TimeSpan.FromSeconds(60)).GetAwaiter().GetResult()) exit = p.ExitCode;
        p.Kill();
        return new BootResult(ok, at, exit, p.Out + p.Error);
    }
}

// PodVolumes on the real file system: hostPath types, tmpfs emptyDir and teardown, projected files, container mounts.
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

[Trait("Category", "External")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PodVolumesTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static JsonObject Pod(string volumes, string mounts = "[]") => JsonNode.Parse($$$"""
        {"metadata":{"name":"web","namespace":"shop","uid":"uid-1","labels":{"b":"2","a":"1"}},
         "spec":{"volumes":{{{volumes}}},"containers":[{"name":"app","resources":{"limits":{"memory":"64Mi"}},"volumeMounts":{{{mounts}}}}]}}
        """)!.AsObject();

    static JsonObject Container(JsonObject pod) => pod["spec"]!["containers"]![0]!.AsObject();

    [Theory]
    [InlineData("Directory", "dir", null)]
    [InlineData("Directory", "file", "is not a directory")]
    [InlineData("Directory", "missing", "is not a directory")]
    [InlineData("File", "file", null)]
    [InlineData("File", "dir", "is not a file")]
    [InlineData("Socket", "sock", null)]
    [InlineData("Socket", "file", "is not a socket file")]
    [InlineData("CharDevice", "/dev/null", null)]
    [InlineData("CharDevice", "file", "is not a character device")]
    [InlineData("BlockDevice", "/dev/null", "is not a block device")]
    [InlineData("", "missing", null)]
    [InlineData("Weird", "dir", "Weird is an invalid volume type")]
    public void HostPath_TypeChecks(string type, string what, string? error)
    {
        using var dir = new TempDir("hp-");
        Directory.CreateDirectory(dir["dir"]);
        File.WriteAllText(dir["file"], "x");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(dir["sock"]));
        var path = what.StartsWith('/') ? what : dir[what];
        var e = Record.Exception(() => HostPathCheck.Check(path, type));
        if (error is null) Assert.Null(e);
        else Assert.Equal(error.Contains("invalid") ? error : $"hostPath type check failed: {path} {error}", Assert.IsType<IOException>(e).Message);
    }

    [Fact]
    public void HostPath_OrCreate_MakesWhatIsMissing_ThenChecksWhatIsThere()
    {
        using var dir = new TempDir("hp-");
        HostPathCheck.Check(dir["new/dir"], "DirectoryOrCreate");
        Assert.Equal(FileKind.Directory, FileKinds.Of(dir["new/dir"]));
        HostPathCheck.Check(dir["new/sub/file"], "FileOrCreate");
        Assert.Equal(FileKind.File, FileKinds.Of(dir["new/sub/file"]));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(dir["new/sub/file"]));
        Assert.Contains("is not a file", Assert.Throws<IOException>(() => HostPathCheck.Check(dir["new/dir"], "FileOrCreate")).Message);
        Assert.Contains("is not a directory", Assert.Throws<IOException>(() => HostPathCheck.Check(dir["new/sub/file"], "DirectoryOrCreate")).Message);
    }

    [Fact]
    public async Task EmptyDir_Memory_IsASizedTmpfs_AndTeardownUnmountsThenDeletes()
    {
        using var dir = new TempDir("pv-");
        var volumes = new PodVolumes(dir.Path, new MemoryPodObjects());
        var pod = Pod("""[{"name":"cache","emptyDir":{"medium":"Memory","sizeLimit":"4Mi"}},{"name":"scratch","emptyDir":{}}]""");
        try
        {
            await volumes.SetUpAsync(pod, PodFacts.None, Ct);
        }
        catch (VolumeSetupException e) when (e.InnerException is IOException io && io.Message.StartsWith("mount tmpfs"))
        {
            Assert.Skip($"the kernel refused a tmpfs mount here: {io.Message}");
        }
        var cache = Path.Combine(volumes.PodDir("uid-1"), "volumes/kubernetes.io~empty-dir/cache");
        Assert.True(Tmpfs.IsMountPoint(cache));
        Assert.False(Tmpfs.IsMountPoint(Path.Combine(volumes.PodDir("uid-1"), "volumes/kubernetes.io~empty-dir/scratch")));
        Assert.Equal((UnixFileMode)0b111_111_111, File.GetUnixFileMode(cache));
        Assert.Contains("size=4096k", File.ReadAllLines("/proc/self/mountinfo").Single(l => l.Split(' ')[4] == cache));
        // The size limit is the kernel's: writing past it fails.
        Assert.Throws<IOException>(() => File.WriteAllBytes(Path.Combine(cache, "big"), new byte[5 << 20]));
        await volumes.SetUpAsync(pod, PodFacts.None, Ct); // idempotent: no second mount
        Assert.Single(Tmpfs.MountsUnder(cache));

        volumes.TearDown("uid-1");
        Assert.False(Tmpfs.IsMountPoint(cache));
        Assert.False(Directory.Exists(volumes.PodDir("uid-1")));
    }

    [Fact]
    public async Task ConfigMap_Secret_DownwardApi_Projected_Files_Modes_AndSyncOnlyOnChange()
    {
        using var dir = new TempDir("pv-");
        var objects = new MemoryPodObjects().ConfigMap("cfg", ("app.conf", "port=80"), ("other", "o")).Secret("s", ("token", "t0p"));
        objects.ConfigMaps["cfg"]["binaryData"] = new JsonObject { ["blob"] = Convert.ToBase64String([0, 1, 2, 255]) };
        var volumes = new PodVolumes(dir.Path, objects);
        var pod = Pod("""
            [{"name":"conf","configMap":{"name":"cfg","items":[{"key":"app.conf","path":"etc/app.conf","mode":384}]}},
             {"name":"all","configMap":{"name":"cfg","defaultMode":292}},
             {"name":"sec","secret":{"secretName":"s"}},
             {"name":"opt","secret":{"secretName":"absent","optional":true}},
             {"name":"info","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}},
                {"path":"mem","resourceFieldRef":{"containerName":"app","resource":"limits.memory","divisor":"1Mi"}}]}},
             {"name":"proj","projected":{"sources":[{"configMap":{"name":"cfg","items":[{"key":"other","path":"o"}]}},
                {"secret":{"name":"s"}},{"downwardAPI":{"items":[{"path":"name","fieldRef":{"fieldPath":"metadata.name"}}]}}]}}]
            """);
        await volumes.SetUpAsync(pod, PodFacts.None, Ct);
        string V(string rel) => Path.Combine(volumes.PodDir("uid-1"), "volumes", rel);
        Assert.Equal("port=80", File.ReadAllText(V("kubernetes.io~configmap/conf/etc/app.conf")));
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(V("kubernetes.io~configmap/conf/etc/app.conf")));
        Assert.False(Path.Exists(V("kubernetes.io~configmap/conf/other")));
        Assert.Equal((UnixFileMode)0b100_100_100, File.GetUnixFileMode(V("kubernetes.io~configmap/all/other")));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, File.ReadAllBytes(V("kubernetes.io~configmap/all/blob")));
        Assert.Equal("t0p", File.ReadAllText(V("kubernetes.io~secret/sec/token")));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(V("kubernetes.io~secret/sec/token")));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(V("kubernetes.io~secret/opt")), e => !Path.GetFileName(e).StartsWith(".."));
        Assert.Equal("a=\"1\"\nb=\"2\"", File.ReadAllText(V("kubernetes.io~downward-api/info/labels")));
        Assert.Equal("64", File.ReadAllText(V("kubernetes.io~downward-api/info/mem")));
        Assert.Equal(["name", "o", "token"], Directory.GetFileSystemEntries(V("kubernetes.io~projected/proj")).Select(Path.GetFileName).Where(n => !n!.StartsWith("..")).Order(StringComparer.Ordinal));

        Assert.Empty(await volumes.SyncAsync(pod, PodFacts.None, Ct));
        objects.ConfigMap("cfg", ("app.conf", "port=81"), ("other", "o"));
        pod["metadata"]!["labels"]!["c"] = "3";
        Assert.Equal(["conf", "all", "info"], await volumes.SyncAsync(pod, PodFacts.None, Ct));
        Assert.Equal("port=81", File.ReadAllText(V("kubernetes.io~configmap/conf/etc/app.conf")));
        Assert.False(Path.Exists(V("kubernetes.io~configmap/all/blob")));

        objects.Secrets.Remove("s");
        var e = await Assert.ThrowsAsync<VolumeSetupException>(() => volumes.SyncAsync(pod, PodFacts.None, Ct));
        Assert.Equal("MountVolume.SetUp failed for volume \"sec\" : secret \"s\" not found", e.Message);
        Assert.Equal("t0p", File.ReadAllText(V("kubernetes.io~secret/sec/token"))); // the old files stay
        volumes.TearDown("uid-1");
        Assert.False(Directory.Exists(volumes.PodDir("uid-1")));
    }

    [Fact]
    public async Task MissingKey_IsFailedMount_InUpstreamWords()
    {
        using var dir = new TempDir("pv-");
        var volumes = new PodVolumes(dir.Path, new MemoryPodObjects().ConfigMap("cfg", ("a", "1")));
        var e = await Assert.ThrowsAsync<VolumeSetupException>(() => volumes.SetUpAsync(
            Pod("""[{"name":"conf","configMap":{"name":"cfg","items":[{"key":"b","path":"b"}]}}]"""), PodFacts.None, Ct));
        Assert.Equal("MountVolume.SetUp failed for volume \"conf\" : configmap references non-existent config key: b", e.Message);
        Assert.Equal("FailedMount", e.Reason);
    }

    [Fact]
    public async Task Mounts_ReadOnlyForProjected_SubPathCreated_SubPathExprExpanded_EscapesRefused()
    {
        using var dir = new TempDir("pv-");
        var volumes = new PodVolumes(dir.Path, new MemoryPodObjects().ConfigMap("cfg", ("a", "1")));
        var pod = Pod("""[{"name":"conf","configMap":{"name":"cfg"}},{"name":"data","emptyDir":{}},{"name":"host","hostPath":{"path":"/etc"}}]""", """
            [{"name":"conf","mountPath":"/etc/conf"},{"name":"data","mountPath":"/data","subPathExpr":"logs/$(POD)","mountPropagation":"HostToContainer"},
             {"name":"host","mountPath":"/host","readOnly":true}]
            """);
        await volumes.SetUpAsync(pod, PodFacts.None, Ct);
        var mounts = volumes.MountsFor(pod, Container(pod), [new("POD", "web")]);
        var data = Path.Combine(volumes.PodDir("uid-1"), "volumes/kubernetes.io~empty-dir/data");
        Assert.Equal(
            [new VolumeMount("/etc/conf", Path.Combine(volumes.PodDir("uid-1"), "volumes/kubernetes.io~configmap/conf"), true, "None"),
             new VolumeMount("/data", Path.Combine(data, "logs/web"), false, "HostToContainer"),
             new VolumeMount("/host", "/etc", true, "None")],
            mounts);
        Assert.True(Directory.Exists(Path.Combine(data, "logs/web")));

        File.CreateSymbolicLink(Path.Combine(data, "escape"), "/etc");
        foreach (var (sub, words) in new[] { ("/abs", "must not be an absolute path"), ("a/../..", "must not contain '..'"), ("escape", "failed to prepare subPath") })
        {
            var c = Container(pod).DeepClone().AsObject();
            c["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "data", ["mountPath"] = "/d", ["subPath"] = sub });
            Assert.Contains(words, Assert.Throws<ContainerConfigException>(() => volumes.MountsFor(pod, c, [])).Message);
        }
        volumes.TearDown("uid-1");
    }
}

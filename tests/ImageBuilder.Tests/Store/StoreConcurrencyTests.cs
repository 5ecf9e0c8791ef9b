// Two `appliance` processes adding at once, and an add killed half-way: the store stays consistent.
using System.Diagnostics;
using System.Security.Cryptography;
using Appliance.ImageBuilder.Store;
using static Appliance.ImageBuilder.Tests.Store.TestImages;

namespace Appliance.ImageBuilder.Tests.Store;

[Collection("store-processes")]
public class StoreConcurrencyTests
{
    private static string ApplianceDll => Path.Combine(AppContext.BaseDirectory, "appliance.dll");

    private static string[] AddArgs(string store, params string[] paths) => [ApplianceDll, "store", "--store", store, "add", .. paths];

    private static ChildProcess StartAdd(string store, params string[] paths) => ProcessRunner.Start("dotnet", AddArgs(store, paths));

    [Fact]
    [Trait("Category", "RoundTrip")]
    public async Task Two_processes_adding_at_once_leave_a_clean_store_with_both_sets()
    {
        using var t = new TempDir();
        var store = t["store"];
        var shared = SimpleLayer("shared layer in every image");
        var a = new List<string>();
        var b = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            foreach (var (list, side) in new[] { (a, "a"), (b, "b") })
            {
                var unique = Tar([new TarMember($"{side}{i}.bin", RandomNumberGenerator.GetBytes(256 << 10))]);
                var path = t[$"{side}{i}.tar"];
                File.WriteAllBytes(path, ArchiveTar(Make($"example.local/{side}:{i}", [shared, unique]).Files()));
                list.Add(path);
            }
        }
        using var pa = StartAdd(store, [.. a]);
        using var pb = StartAdd(store, [.. b]);
        var ct = TestContext.Current.CancellationToken;
        var ra = await pa.WaitAsync(TimeSpan.FromMinutes(2), ct);
        var rb = await pb.WaitAsync(TimeSpan.FromMinutes(2), ct);
        Assert.True(ra.ExitCode == 0, ra.Error);
        Assert.True(rb.ExitCode == 0, rb.Error);
        var s = ContentStore.Open(store);
        Assert.Empty(s.Verify());
        var names = s.List().Select(i => $"{i.Name}:{i.Tag}").ToHashSet();
        for (int i = 0; i < 6; i++)
        {
            Assert.Contains($"example.local/a:{i}", names);
            Assert.Contains($"example.local/b:{i}", names);
        }
        Assert.Empty(Directory.GetFileSystemEntries(s.IngestDirectory));
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public async Task Four_threads_adding_and_collecting_at_once_keep_the_store_clean()
    {
        using var t = new TempDir();
        var store = t["store"];
        var shared = SimpleLayer("shared");
        var paths = Enumerable.Range(0, 8).Select(i =>
        {
            var p = t[$"i{i}.tar"];
            File.WriteAllBytes(p, ArchiveTar(Make($"example.local/thread:{i}", [shared, Tar([new TarMember($"f{i}", RandomNumberGenerator.GetBytes(64 << 10))])]).Files()));
            return p;
        }).ToList();
        var ct = TestContext.Current.CancellationToken;
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var importer = new Appliance.ImageBuilder.Store.Import.ImageImporter(ContentStore.OpenOrCreate(store), new());
            importer.Add(paths[w]);
            ContentStore.Open(store).Gc(); // gc between adds must never take a blob an add is about to reference
            importer.Add(paths[w + 4]);
        }, ct)).ToArray();
        await Task.WhenAll(workers);
        var s = ContentStore.Open(store);
        Assert.Empty(s.Verify());
        Assert.Equal(8, s.List().Count);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void An_add_killed_half_way_leaves_the_store_as_it_was()
    {
        using var t = new TempDir();
        var store = t["store"];
        var good = t["good.tar"];
        File.WriteAllBytes(good, ArchiveTar(Make("example.local/good:1", [SimpleLayer()]).Files()));
        Assert.Equal(0, ProcessRunner.Run("dotnet", AddArgs(store, good)).ExitCode);
        var before = TreeHash.Of(store);
        var indexBefore = File.ReadAllText(Path.Combine(store, "index.json"));
        var blobsBefore = TreeHash.Of(Path.Combine(store, "blobs"));
        var big = t["big.tar"];
        File.WriteAllBytes(big, ArchiveTar(Make("example.local/big:1", [Tar([new TarMember("big.bin", RandomNumberGenerator.GetBytes(192 << 20))])]).Files()));
        var ingest = Path.Combine(store, "ingest");
        using var p = StartAdd(store, big);
        var sw = Stopwatch.StartNew();
        while (!Directory.EnumerateFiles(ingest, "part-*", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 1 << 20))
        {
            Assert.False(p.HasExited, "the add finished before it could be interrupted");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "the add never started writing");
            Thread.Sleep(2);
        }
        p.Kill();
        Assert.Equal(indexBefore, File.ReadAllText(Path.Combine(store, "index.json")));
        Assert.Equal(blobsBefore, TreeHash.Of(Path.Combine(store, "blobs")));
        Assert.NotEqual(before, TreeHash.Of(store)); // the dead add's ingest directory is still there
        var gc = Appliance.ImageBuilder.Tests.Cli.CliRunner.Run("store", "--store", store, "gc");
        Assert.Equal(0, gc.ExitCode);
        Assert.Equal(before, TreeHash.Of(store));
    }
}

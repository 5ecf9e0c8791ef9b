// Adds starting and finishing while other adds and gc clean the ingest area: no add loses its staging directory.
using System.Diagnostics;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Store.Import;

namespace Appliance.ImageBuilder.Tests.Store;

[Collection("store-processes")]
public class IngestRaceTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public async Task Ingest_cleanup_racing_stagings_that_start_and_finish_never_fails_and_leaves_nothing()
    {
        using var t = new TempDir();
        var store = ContentStore.OpenOrCreate(t["store"]);
        var run = Stopwatch.StartNew();
        var budget = TimeSpan.FromSeconds(2);
        int stagings = 0, sweeps = 0;
        var adders = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (run.Elapsed < budget)
            {
                using var s = new Staging(store);
                File.WriteAllBytes(s.NewTempPath(), [1, 2, 3]); // fails when a cleaner took the directory
                File.WriteAllBytes(s.NewTempPath(), [4, 5, 6]);
                Interlocked.Increment(ref stagings);
            }
        }));
        var cleaners = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (run.Elapsed < budget)
            {
                Staging.CleanOrphans(store);
                Interlocked.Increment(ref sweeps);
            }
        }));
        await Task.WhenAll(adders.Concat(cleaners));
        Assert.True(stagings > 10 && sweeps > 10, $"too little overlap: {stagings} stagings, {sweeps} sweeps");
        Assert.Empty(Directory.GetFileSystemEntries(store.IngestDirectory));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Removing_an_unused_new_store_leaves_it_alone_while_an_add_is_staging()
    {
        using var t = new TempDir();
        var store = ContentStore.OpenOrCreate(t["store"]);
        using (var staging = new Staging(store))
        {
            Assert.False(store.DeleteIfUnused());
            staging.Add(Appliance.ImageBuilder.Oci.Digest.Of([7]), [7]);
            staging.Commit([]);
        }
        Assert.Empty(ContentStore.Open(store.Root).Verify());
        Assert.True(store.HasBlob(Appliance.ImageBuilder.Oci.Digest.Of([7])));
        Assert.Empty(Directory.GetFileSystemEntries(store.IngestDirectory));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void An_add_that_opened_the_store_before_it_was_removed_makes_it_again_on_commit()
    {
        using var t = new TempDir();
        var store = ContentStore.OpenOrCreate(t["store"]);
        Assert.True(store.DeleteIfUnused());
        Assert.False(Directory.Exists(store.Root));
        using (var staging = new Staging(store))
        {
            staging.Add(Appliance.ImageBuilder.Oci.Digest.Of([8]), [8]);
            staging.Commit([]);
        }
        var again = ContentStore.Open(store.Root);
        Assert.Empty(again.Verify());
        Assert.True(again.HasBlob(Appliance.ImageBuilder.Oci.Digest.Of([8])));
        Assert.Empty(again.ReadIndex().Manifests);
    }
}

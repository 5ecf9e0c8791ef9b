// The broadcaster bounds each watcher's buffer in bytes as well as in events, and reading gives the room back.
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class WatchBroadcasterTests
{
    static WatchEvent Update(string key, int bytes, long rev) =>
        new(WatchEventType.Update, new KeyValue(key, new byte[bytes], 1, rev, 0), new KeyValue(key, new byte[bytes], 1, rev - 1, 0));

    [Fact, Trait("Category", "Unit")]
    public void AWatcherPastItsBytes_IsCutOff_WhileOneThatReads_IsNot()
    {
        var broadcaster = new WatchBroadcaster(maxBufferedBytes: 1024 * 1024);
        var stuck = broadcaster.Subscribe("/registry/configmaps/", 16384);
        var reading = broadcaster.Subscribe("/registry/configmaps/", 16384);
        for (long rev = 2; rev < 40; rev++)
        {
            broadcaster.Publish([Update("/registry/configmaps/ns/a", 100 * 1024, rev)]);
            while (reading.Channel.Reader.TryRead(out _)) { }
        }
        // 200 KB per event: the sixth does not fit into 1 MiB.
        Assert.True(stuck.Overflowed);
        Assert.True(stuck.BufferedBytes <= 1024 * 1024);
        Assert.False(reading.Overflowed);
        Assert.Equal(0, reading.BufferedBytes);
    }

    [Fact, Trait("Category", "Unit")]
    public void OneEventLargerThanTheBuffer_StillReachesAnEmptyWatcher()
    {
        var broadcaster = new WatchBroadcaster(maxBufferedBytes: 1024);
        var sub = broadcaster.Subscribe("/registry/", 10);
        broadcaster.Publish([Update("/registry/configmaps/ns/a", 4096, 2)]);
        Assert.False(sub.Overflowed);
        Assert.True(sub.Channel.Reader.TryRead(out var ev));
        Assert.Equal(2, ev.Kv.ModRevision);
    }
}

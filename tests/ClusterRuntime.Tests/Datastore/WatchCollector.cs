// Test helper: reads a fixed number of events from a watch.
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Tests.Datastore;

internal static class WatchCollector
{
    /// <summary>The first <paramref name="count"/> events of <paramref name="watch"/>.</summary>
    public static async Task<List<WatchEvent>> Collect(IAsyncEnumerable<WatchEvent> watch, int count)
    {
        var list = new List<WatchEvent>(Math.Max(count, 0));
        if (count <= 0) return list;
        await foreach (var ev in watch)
        {
            list.Add(ev);
            if (list.Count == count) break;
        }
        return list;
    }
}

// Resources served over another's storage (events.k8s.io/v1 over core/v1 Events), and the Event time-to-live.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

public sealed partial class ObjectStore
{
    /// <summary>
    /// How long an Event lives after its last write (kube-apiserver's <c>--event-ttl</c>, 1 hour): Events are written
    /// with a datastore lease of this many seconds, renewed by every update, so they never pile up.
    /// </summary>
    public TimeSpan EventTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The datastore lease (seconds) objects of <paramref name="r"/> are written with; 0 = kept until deleted.</summary>
    long LeaseOf(ApiResource r) =>
        r.Kind == "Event" && r.StoredAs is null && r.Custom is null ? Math.Max(1, (long)Math.Ceiling(EventTtl.TotalSeconds)) : 0;

    /// <summary>
    /// A stored object as <paramref name="r"/> shows it (converted when <paramref name="r"/> is a view; a custom
    /// resource with its schema's defaults, which upstream applies on read too).
    /// </summary>
    public static JsonObject View(ApiResource r, JsonObject stored) =>
        r.Custom is { } custom ? custom.View(r, stored) : r.StoredAs is null ? stored : EventConversion.FromCore(stored);

    /// <summary>An object of the view <paramref name="r"/> in its storage's shape.</summary>
    static JsonObject ToStorage(ApiResource r, JsonObject obj) =>
        r.Custom is not null ? r.StoredAs!.Custom!.View(r.StoredAs, obj) : r.Kind == "Event" ? EventConversion.ToCore(obj) : throw new InvalidOperationException($"no conversion from {r.GroupResource} to its storage");
}

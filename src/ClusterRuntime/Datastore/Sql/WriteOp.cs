// A queued request to a backend's single writer loop, and its outcome.
namespace Appliance.ClusterRuntime.Datastore.Sql;

/// <summary>What a queued write does.</summary>
internal enum WriteKind
{
    Create,
    Update,
    Delete,
    Compact,
    Flush,
    Expire,
    Shutdown,
}

/// <summary>Outcome of one write: the revision after it, the key's value, and whether the condition held.</summary>
internal readonly record struct WriteResult(long Revision, KeyValue? Kv, bool Succeeded);

/// <summary>One queued write. The writer completes <see cref="Done"/> after the batch holding it is durable.</summary>
internal sealed class WriteOp(WriteKind kind)
{
    public WriteKind Kind { get; } = kind;
    public string Key { get; init; } = "";
    public byte[] Value { get; init; } = [];
    public long Expected { get; init; }
    public long Lease { get; init; }
    public long Revision { get; init; }
    public TaskCompletionSource<WriteResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

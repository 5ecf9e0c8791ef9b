// One datastore key per allocated ClusterIP or NodePort, created with the backend's create-if-absent.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Api.Storage.Services;

/// <summary>Who holds an allocation: the Service's uid (its identity), namespace and name, and when it was taken.</summary>
/// <param name="Uid">The Service's uid.</param>
/// <param name="Namespace">Its namespace.</param>
/// <param name="Name">Its name.</param>
/// <param name="At">When the key was created (the repair frees keys of no Service only once they are old).</param>
public sealed record AllocationOwner(string Uid, string Namespace, string Name, DateTimeOffset At)
{
    /// <summary>The owner recorded in a key's value, or null when the value is not one.</summary>
    public static AllocationOwner? Parse(byte[] value)
    {
        try
        {
            var o = JsonNode.Parse(value) as JsonObject;
            var at = DateTimeOffset.TryParse(o?["at"]?.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var t) ? t : DateTimeOffset.MinValue;
            return o?["uid"]?.GetValue<string>() is { } uid
                ? new AllocationOwner(uid, o["namespace"]?.GetValue<string>() ?? "", o["name"]?.GetValue<string>() ?? "", at)
                : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { return null; }
    }

    /// <summary>The stored value.</summary>
    public byte[] ToBytes() => Meta.ToBytes(new JsonObject
    {
        ["uid"] = Uid,
        ["namespace"] = Namespace,
        ["name"] = Name,
        ["at"] = At.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    });
}

/// <summary>The outcome of a claim.</summary>
public enum ClaimResult
{
    /// <summary>The key was free and is now the Service's.</summary>
    Claimed,
    /// <summary>The Service already held it.</summary>
    Held,
    /// <summary>Another Service holds it.</summary>
    Taken,
}

/// <summary>
/// The keys under <see cref="Prefix"/>: <c>clusterips/ADDRESS</c> and <c>nodeports/PORT</c>. Creating a key is the
/// allocation, so two servers sharing a datastore can never hand out one address twice: the second create fails.
/// </summary>
public sealed class AllocationKeys(IBackend backend)
{
    /// <summary>Where allocations live.</summary>
    public const string Prefix = "/registry/ipallocations/";

    /// <summary>Prefix of ClusterIP keys.</summary>
    public const string IpPrefix = Prefix + "clusterips/";

    /// <summary>Prefix of NodePort keys.</summary>
    public const string PortPrefix = Prefix + "nodeports/";

    /// <summary>The key of a ClusterIP.</summary>
    public static string Ip(IPAddress ip) => IpPrefix + ip;

    /// <summary>The key of a NodePort.</summary>
    public static string Port(int port) => PortPrefix + port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Takes <paramref name="key"/> for <paramref name="owner"/> unless another Service holds it.</summary>
    public async Task<ClaimResult> TryClaimAsync(string key, AllocationOwner owner, CancellationToken ct)
    {
        for (int attempt = 0; attempt < 8; attempt++)
        {
            try
            {
                await backend.CreateAsync(key, owner.ToBytes(), 0, ct);
                return ClaimResult.Claimed;
            }
            catch (KeyExistsException)
            {
                var (_, kv) = await backend.GetAsync(key, 0, ct);
                if (kv is null) continue; // freed in between
                return AllocationOwner.Parse(kv.Value)?.Uid == owner.Uid ? ClaimResult.Held : ClaimResult.Taken;
            }
        }
        return ClaimResult.Taken;
    }

    /// <summary>Frees <paramref name="key"/> if the Service with <paramref name="uid"/> holds it.</summary>
    public async Task ReleaseAsync(string key, string uid, CancellationToken ct)
    {
        var (_, kv) = await backend.GetAsync(key, 0, ct);
        if (kv is null || AllocationOwner.Parse(kv.Value)?.Uid is { } holder && holder != uid) return;
        await backend.DeleteAsync(key, kv.ModRevision, ct);
    }

    /// <summary>Every key under <paramref name="prefix"/> with its holder (null when unreadable).</summary>
    public async Task<List<(KeyValue Kv, AllocationOwner? Owner)>> ListAsync(string prefix, CancellationToken ct)
    {
        var all = new List<(KeyValue, AllocationOwner?)>();
        var start = "";
        long revision = 0;
        while (true)
        {
            var page = await backend.ListAsync(prefix, start, 1000, revision, ct);
            revision = page.Revision;
            all.AddRange(page.Items.Select(kv => (kv, AllocationOwner.Parse(kv.Value))));
            if (!page.More || page.Items.Count == 0) return all;
            start = page.Items[^1].Key + "\0";
        }
    }

    /// <summary>The names (last key segment) of every key under <paramref name="prefix"/>.</summary>
    public async Task<HashSet<string>> TakenAsync(string prefix, CancellationToken ct) =>
        (await ListAsync(prefix, ct)).Select(e => e.Kv.Key[prefix.Length..]).ToHashSet(StringComparer.Ordinal);
}

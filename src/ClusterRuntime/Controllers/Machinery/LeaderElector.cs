// Leader election on a coordination.k8s.io Lease, so that one server of several runs the controllers.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// client-go's leader election, on the Lease <c>kube-system/appliance-controller-manager</c>: a candidate takes the
/// Lease when it is free or when its record has not changed for <see cref="LeaseDuration"/> as measured on the
/// candidate's own clock (so clock skew between servers does not matter); the leader renews every
/// <see cref="RetryPeriod"/> and stops leading when it could not renew for <see cref="RenewDeadline"/>. Writes are
/// compare-and-swap on the Lease's resourceVersion, so two candidates never both win.
/// </summary>
public sealed class LeaderElector(ObjectStore store, string identity, ILogger logger)
{
    /// <summary>The Lease's namespace.</summary>
    public const string LeaseNamespace = "kube-system";

    /// <summary>The Lease's name.</summary>
    public const string LeaseName = "appliance-controller-manager";

    static readonly ApiResource Leases = Obj.Resource("coordination.k8s.io", "leases");

    /// <summary>How long an unrenewed Lease keeps its holder (upstream 15 s).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps leading without a successful renewal (upstream 10 s).</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Interval of acquisition attempts and renewals (upstream 2 s).</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>This candidate's identity (host name and a random suffix).</summary>
    public string Identity => identity;

    string? _observedRv;
    string? _observedHolder;
    long _observedAt;

    /// <summary>
    /// Runs <paramref name="lead"/> while this candidate leads (its token is cancelled when leadership is lost) and
    /// campaigns again afterwards, until <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                while (!await TryAcquireAsync(ct)) await Task.Delay(RetryPeriod, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            logger.LogInformation("{Identity} became the leader (lease {Ns}/{Name}); starting the controllers", identity, LeaseNamespace, LeaseName);
            using var term = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var leading = Task.Run(() => lead(term.Token), CancellationToken.None);
            var lastRenew = Stopwatch.GetTimestamp();
            try
            {
                while (!leading.IsCompleted)
                {
                    await Task.WhenAny(leading, Task.Delay(RetryPeriod, ct));
                    if (leading.IsCompleted) break;
                    bool renewed;
                    try { renewed = await TryAcquireOrRenewAsync(ct); }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.LogDebug(e, "renewing the leader lease failed");
                        renewed = false;
                    }
                    if (renewed) lastRenew = Stopwatch.GetTimestamp();
                    else if (Stopwatch.GetElapsedTime(lastRenew) > RenewDeadline || _observedHolder != identity)
                    {
                        logger.LogWarning("{Identity} lost the leader lease; stopping the controllers", identity);
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            await term.CancelAsync();
            try { await leading; }
            catch (OperationCanceledException) { }
            catch (Exception e) { logger.LogError(e, "the controllers failed"); }
            try { await Task.Delay(RetryPeriod, ct); } catch (OperationCanceledException) { }
        }
    }

    string? _lastFailure;

    /// <summary>One acquisition attempt; a failure (datastore down, namespace missing) is logged once and retried.</summary>
    async Task<bool> TryAcquireAsync(CancellationToken ct)
    {
        try
        {
            var acquired = await TryAcquireOrRenewAsync(ct);
            _lastFailure = null;
            return acquired;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (e.Message != _lastFailure) logger.LogWarning("acquiring the leader lease failed: {Error}; retrying", e.Message);
            _lastFailure = e.Message;
            return false;
        }
    }

    /// <summary>One attempt: true when this candidate holds the Lease afterwards.</summary>
    async Task<bool> TryAcquireOrRenewAsync(CancellationToken ct)
    {
        var now = store.Clock.GetUtcNow();
        var nowText = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var (kv, current) = await store.TryGetAsync(Leases, LeaseNamespace, LeaseName, ct);
        if (current is null)
        {
            var lease = new JsonObject
            {
                ["apiVersion"] = Leases.ApiVersion,
                ["kind"] = "Lease",
                ["metadata"] = new JsonObject { ["name"] = LeaseName, ["namespace"] = LeaseNamespace },
                ["spec"] = Spec(nowText, nowText, 0),
            };
            try { await store.CreateAsync(Leases, LeaseNamespace, lease, ct); }
            catch (ApiException e) when (e.Code == 409) { return false; }
            Observe(lease, identity);
            return true;
        }
        var holder = Obj.Str(current, "spec", "holderIdentity");
        var rv = Meta.Str(current, "resourceVersion");
        if (rv != _observedRv) Observe(current, holder);
        bool mine = holder == identity;
        bool expired = string.IsNullOrEmpty(holder)
            || Stopwatch.GetElapsedTime(_observedAt) > TimeSpan.FromSeconds(Obj.Int(current, (int)LeaseDuration.TotalSeconds, "spec", "leaseDurationSeconds"));
        if (!mine && !expired) return false;
        var transitions = Obj.Int(current, 0, "spec", "leaseTransitions") + (mine ? 0 : 1);
        var acquired = mine ? Obj.Str(current, "spec", "acquireTime") ?? nowText : nowText;
        try
        {
            var updated = await store.UpdateAsync(Leases, LeaseNamespace, LeaseName, cur =>
            {
                Meta.Of(cur)["resourceVersion"] = rv;
                cur["spec"] = Spec(acquired, nowText, transitions);
                return cur;
            }, false, ct);
            Observe(updated, identity);
            return true;
        }
        catch (ApiException e) when (e.Code is 409 or 404)
        {
            return false;
        }
    }

    void Observe(JsonObject lease, string? holder)
    {
        _observedRv = Meta.Str(lease, "resourceVersion");
        _observedAt = Stopwatch.GetTimestamp();
        _observedHolder = holder;
    }

    JsonObject Spec(string acquireTime, string renewTime, int transitions) => new()
    {
        ["holderIdentity"] = identity,
        ["leaseDurationSeconds"] = (int)LeaseDuration.TotalSeconds,
        ["acquireTime"] = acquireTime,
        ["renewTime"] = renewTime,
        ["leaseTransitions"] = transitions,
    };
}

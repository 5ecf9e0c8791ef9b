// Caps concurrent requests (reads and writes counted apart; watches excluded), as kube-apiserver's --max-requests-inflight.
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api;

/// <summary>
/// Admits at most <paramref name="maxReads"/> non-mutating and <paramref name="maxWrites"/> mutating requests at once;
/// past that a request gets 429 TooManyRequests with <c>Retry-After: 1</c>, as upstream's max-in-flight filter does.
/// Long-running requests (watches) are not counted. 0 turns a limit off.
/// </summary>
public sealed class InFlightLimit(int maxReads, int maxWrites)
{
    int _reads;
    int _writes;

    /// <summary>Fires when the last counted request finishes (the server uses it to give memory back after a burst).</summary>
    public event Action? Drained;

    /// <summary>A slot held until disposed; <see cref="Admitted"/> is false when the request must be refused.</summary>
    public readonly struct Slot(InFlightLimit? owner, bool mutating, bool admitted) : IDisposable
    {
        /// <summary>False when the limit was reached.</summary>
        public bool Admitted { get; } = admitted;

        /// <inheritdoc />
        public void Dispose()
        {
            if (owner is null || !Admitted) return;
            var left = mutating ? Interlocked.Decrement(ref owner._writes) : Interlocked.Decrement(ref owner._reads);
            if (left == 0 && Volatile.Read(ref owner._reads) + Volatile.Read(ref owner._writes) == 0) owner.Drained?.Invoke();
        }
    }

    /// <summary>True for requests that stay open by design and are never counted.</summary>
    /// <remarks>
    /// Only a GET can be a watch or a pod log, and only by <c>?watch=true</c> or the legacy <c>watch</c> segment right after the
    /// group version (<c>/api/v1/watch/…</c>, <c>/apis/G/V/watch/…</c>): a namespace or object named "watch" is not.
    /// </remarks>
    public static bool IsLongRunning(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method)) return false;
        var w = request.Query["watch"];
        if (w == "1" || w == "true") return true;
        var parts = (request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length > 2 && parts[0] == "api" && parts[2] == "watch"
            || parts.Length > 3 && parts[0] == "apis" && parts[3] == "watch"
            // A pod's log, exec, attach or port-forward (kube-apiserver counts them as long-running: they can stay for days).
            || parts is ["api", "v1", "namespaces", _, "pods", _, "log" or "exec" or "attach" or "portforward"];
    }

    /// <summary>Takes a slot for <paramref name="request"/>.</summary>
    public Slot Enter(HttpRequest request)
    {
        if (IsLongRunning(request)) return new Slot(null, false, true);
        bool mutating = request.Method is not ("GET" or "HEAD" or "OPTIONS");
        var max = mutating ? maxWrites : maxReads;
        ref int counter = ref mutating ? ref _writes : ref _reads;
        var now = Interlocked.Increment(ref counter);
        if (max > 0 && now > max)
        {
            Interlocked.Decrement(ref counter);
            return new Slot(this, mutating, false);
        }
        return new Slot(this, mutating, true);
    }

    /// <summary>The 429 answer.</summary>
    public static Task RefuseAsync(HttpContext ctx)
    {
        ctx.Response.Headers.RetryAfter = "1";
        return HttpIo.WriteErrorAsync(ctx, new ApiException(429, "TooManyRequests", "Too many requests, please try again later.",
            new System.Text.Json.Nodes.JsonObject { ["retryAfterSeconds"] = 1 }));
    }
}

// Binds pending pods of one namespace to nodes while no scheduler runs in the server (a stand-in for kube-scheduler).
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Controllers;

/// <summary>
/// Every 100 ms binds the namespace's unbound pods: a pod whose node affinity names a node (DaemonSet pods,
/// <c>matchFields metadata.name In [NODE]</c>) to that node, others to <see cref="Nodes"/> in turn. It binds through
/// the <c>binding</c> subresource, as kube-scheduler does; while the server does not serve it yet, it sets
/// <c>spec.nodeName</c> with a merge patch (the server does not yet make it immutable). A scheduler in the server
/// racing it is harmless: the second binding fails and is ignored.
/// </summary>
public sealed class TestBinder : IAsyncDisposable
{
    readonly IKubernetes _client;
    readonly string _ns;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;
    int _next;

    /// <summary>Starts binding pods of <paramref name="ns"/>.</summary>
    public TestBinder(IKubernetes client, string ns, params string[] nodes)
    {
        _client = client;
        _ns = ns;
        Nodes = nodes;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Nodes for pods that do not name one.</summary>
    public string[] Nodes { get; }

    async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var pending = await _client.CoreV1.ListNamespacedPodAsync(_ns, fieldSelector: "spec.nodeName=", cancellationToken: ct);
                foreach (var pod in pending.Items.Where(p => p.Metadata.DeletionTimestamp is null))
                    if (Target(pod) is { } node) await BindAsync(pod, node, ct);
                await Task.Delay(100, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (k8s.Autorest.HttpOperationException) { }
            catch (HttpRequestException) { }
        }
    }

    string? Target(V1Pod pod)
    {
        var named = pod.Spec.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms?
            .SelectMany(t => t.MatchFields ?? []).FirstOrDefault(f => f.Key == "metadata.name" && f.OperatorProperty == "In")?.Values?.SingleOrDefault();
        if (named is not null) return named;
        return Nodes.Length == 0 ? null : Nodes[Interlocked.Increment(ref _next) % Nodes.Length];
    }

    async Task BindAsync(V1Pod pod, string node, CancellationToken ct)
    {
        var binding = new V1Binding { Metadata = new V1ObjectMeta { Name = pod.Metadata.Name }, Target = new V1ObjectReference { Kind = "Node", Name = node } };
        try
        {
            await _client.CoreV1.CreateNamespacedPodBindingAsync(binding, pod.Metadata.Name, _ns, cancellationToken: ct);
            return;
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.MethodNotAllowed)
        {
            // no binding subresource yet (or the pod is gone, and the patch below fails too)
        }
        catch (k8s.Autorest.HttpOperationException) { return; }
        var patch = new V1Patch(new { metadata = new { resourceVersion = pod.Metadata.ResourceVersion }, spec = new { nodeName = node } }, V1Patch.PatchType.MergePatch);
        try { await _client.CoreV1.PatchNamespacedPodAsync(patch, pod.Metadata.Name, _ns, cancellationToken: ct); }
        catch (k8s.Autorest.HttpOperationException) { }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}

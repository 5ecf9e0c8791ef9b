// Test support: a real server process, containerd in a network namespace, a registered Node and our kubelet (and its API) in-process.
using Appliance.Common.Pki;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Kubelet;
using Appliance.ClusterRuntime.Agent.Kubelet.Probes;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>
/// One node for the kubelet tests (an xunit class fixture, started by the first test that asks): a server, a
/// <see cref="ContainerdHost"/>, the Node registered and heartbeating (Ready from CRI), and a <see cref="Appliance.ClusterRuntime.Agent.Kubelet.Kubelet"/>
/// that <see cref="RestartKubeletAsync"/> replaces with a new one, as an agent restart does.
/// </summary>
public sealed class KubeletHost : IAsyncDisposable
{
    /// <summary>A test class's node (an xunit class fixture; started by the class's first test).</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        /// <summary>The node.</summary>
        public KubeletHost Host { get; } = new();

        /// <inheritdoc />
        public ValueTask InitializeAsync() => ValueTask.CompletedTask;

        /// <inheritdoc />
        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }

    /// <summary>The node's name.</summary>
    public const string NodeName = "kubelet-node";

    /// <summary>The node's resolv.conf as this kubelet reads it (dnsPolicy Default, and the searches ClusterFirst appends).</summary>
    public const string NodeResolvConf = "# the test node's\nnameserver 192.0.2.53\nsearch node.example\noptions timeout:2\n";

    readonly SemaphoreSlim _start = new(1, 1);
    readonly TempDir _dir = new("kubelet-");
    readonly CancellationTokenSource _stop = new();
    CancellationTokenSource? _kubeletStop;
    Task? _kubelet, _heartbeat;
    ApiClient? _api;
    ContainerdHost? _containerd;
    Appliance.ClusterRuntime.Agent.Cri.CriConnection? _heartbeatCri;
    RuntimeProcess? _server;
    ProbeManager? _probes;
    Appliance.ClusterRuntime.Agent.KubeletApi.KubeletServer? _kubeletApi;

    internal ContainerdHost Containerd => _containerd!;

    /// <summary>A client of the API server that trusts its CA; with <paramref name="admin"/> it presents the admin certificate.</summary>
    public HttpClient CreateServerClient(bool admin) => _server!.CreateClient(admin);

    /// <summary>kubectl bound to the server.</summary>
    public Support.Kubectl Kubectl { get; private set; } = null!;

    /// <summary>Where the kubelet keeps pod volumes: <c>{this}/{uid}/volumes/kubernetes.io~{plugin}/{name}</c>.</summary>
    public string PodVolumesDir => _containerd!["pods-volumes"];

    /// <summary>The API as the kubelet uses it.</summary>
    internal ApiClient Api => _api!;

    /// <summary>The server's admin kubeconfig (for kubectl run with stdin or under a terminal).</summary>
    public string KubeconfigPath => _server!.KubeconfigPath;

    /// <summary>The server's output so far (for failure messages).</summary>
    public string ServerLog => _server?.Log ?? "";

    /// <summary>The Node's podCIDR.</summary>
    public string PodCidr { get; private set; } = "";

    /// <summary>Starts everything the first time; skips the test when containerd, runc or root is missing.</summary>
    public async Task StartAsync()
    {
        await _start.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_server is not null) return;
            Support.Kubectl.RequireInstalled();
            _containerd = await ContainerdHost.StartAsync();
            _server = await RuntimeProcess.StartAsync(_dir["server"], RuntimeProcess.FreePort());
            Directory.CreateDirectory(_dir["cache"]);
            Kubectl = new Support.Kubectl(_server.KubeconfigPath, _dir["cache"]);
            var http = _server.CreateClient();
            http.Timeout = Timeout.InfiniteTimeSpan;
            _api = new ApiClient(http);
            await new NodeRegistration(_api, NodeName, NodeRegistration.StandardLabels(NodeName, "amd64", new Dictionary<string, string>()), []).RegisterAsync(_stop.Token);
            _kubeletApi = await StartKubeletApiAsync();
            // A connection of its own to containerd's socket: it outlives a containerd started again (PowerLossAsync).
            _heartbeatCri = new Appliance.ClusterRuntime.Agent.Cri.CriConnection(_containerd.Supervisor.SocketPath);
            _heartbeat = new NodeHeartbeat(_api, NodeName, IPAddress.Loopback, _dir.Path, new CriRuntimeStatus(_heartbeatCri), NullLogger.Instance, TimeProvider.System)
                { KubeletPort = _kubeletApi.Port }.RunAsync(_stop.Token);
            PodCidr = await Poll.UntilAsync(async () => (await _api.GetAsync($"/api/v1/nodes/{NodeName}", _stop.Token))?["spec"]?["podCIDR"]?.GetValue<string>() ?? "",
                c => c.Length > 0, TimeSpan.FromSeconds(30), "the node's podCIDR");
            StartKubelet();
        }
        finally
        {
            _start.Release();
        }
    }

    /// <summary>The kubelet API on loopback (a free port, reported in the Node's status), serving logs, exec, attach and port-forward
    /// (containerd's stream server, for attach, is on loopback in containerd's namespace).</summary>
    async Task<Appliance.ClusterRuntime.Agent.KubeletApi.KubeletServer> StartKubeletApiAsync()
    {
        var tls = Path.Combine(_server!.DataDir, "tls");
        var serverCa = new PemPair(File.ReadAllText(Path.Combine(tls, "server-ca.crt")), File.ReadAllText(Path.Combine(tls, "server-ca.key")));
        var serving = CertificateFactory.CreateServing(serverCa, NodeName, [NodeName], [IPAddress.Loopback], DateTimeOffset.UtcNow);
        return await Appliance.ClusterRuntime.Agent.KubeletApi.KubeletServer.StartAsync(new Appliance.ClusterRuntime.Agent.KubeletApi.KubeletServerOptions(
            IPAddress.Loopback, 0, serving, File.ReadAllText(Path.Combine(tls, "client-ca.crt")), new Appliance.ClusterRuntime.Agent.Kubelet.Logs.PodLogLocator(_containerd!["pods"]),
            new Appliance.ClusterRuntime.Agent.KubeletApi.ExecOptions(_containerd.Supervisor.SocketPath, _dir["exec"], $"/run/netns/{_containerd.NetNs}")), _stop.Token);
    }

    void StartKubelet()
    {
        _kubeletStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var options = new KubeletOptions(NodeName, "127.0.0.1", _containerd!["pods"], _containerd["cni"]) { ResolvConf = _dir.Write("resolv.conf", NodeResolvConf), UnpackRoot = _containerd["c"] };
        // Probes connect from containerd's network namespace, where the pods' CNI bridge is.
        _probes?.Dispose();
        var events = new Appliance.ClusterRuntime.Controllers.Machinery.EventRecorder(new ApiEventSink(_api!), TimeProvider.System, NodeName, NullLogger.Instance);
        _probes = new ProbeManager(_containerd.Cri, NullLogger.Instance, options.NodeIp, events, $"/run/netns/{_containerd.NetNs}");
        var kubelet = new Appliance.ClusterRuntime.Agent.Kubelet.Kubelet(_api!, _containerd.Cri, options, NullLogger.Instance, _probes)
        { Inputs = new PodInputs(_api!, PodVolumesDir), Events = events };
        _kubelet = Task.Run(() => kubelet.RunAsync(_kubeletStop.Token));
    }

    /// <summary>Stops the kubelet (its workers end; containers keep running) and starts a new one.</summary>
    public async Task RestartKubeletAsync()
    {
        _kubeletStop!.Cancel();
        try { await _kubelet!; } catch (OperationCanceledException) { }
        StartKubelet();
    }

    /// <summary>A power loss and the next boot (<see cref="ContainerdHost.PowerLossAsync"/>): the kubelet stops, containerd
    /// and every container die, containerd starts again on the same directory, and a new kubelet starts.</summary>
    public async Task PowerLossAsync()
    {
        _kubeletStop!.Cancel();
        try { await _kubelet!; } catch (OperationCanceledException) { }
        await _containerd!.PowerLossAsync();
        StartKubelet();
    }

    /// <summary>A pod read through the API (null when gone).</summary>
    public Task<JsonObject?> PodAsync(string ns, string name) => _api!.GetAsync($"/api/v1/namespaces/{ns}/pods/{name}", TestContext.Current.CancellationToken);

    /// <summary>Polls pod <c>default/NAME</c> (an empty object while it is missing) until <paramref name="done"/>.</summary>
    public async Task<JsonObject> WaitPodAsync(string name, Func<JsonObject, bool> done, TimeSpan timeout, string what) =>
        (await Poll.UntilAsync(async () => await PodAsync("default", name) ?? new JsonObject(), done, timeout, what))!;

    /// <summary>Creates a pod in <c>default</c> bound to this node from a spec.</summary>
    public async Task<JsonObject> CreatePodAsync(string name, JsonObject spec, JsonObject? labels = null)
    {
        spec["nodeName"] = NodeName;
        var meta = new JsonObject { ["name"] = name };
        if (labels is not null) meta["labels"] = labels;
        var pod = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = meta, ["spec"] = spec };
        return await _api!.CreateAsync("/api/v1/namespaces/default/pods", pod, TestContext.Current.CancellationToken);
    }

    /// <summary>The CRI sandboxes labelled with the pod UID.</summary>
    internal async Task<List<PodSandbox>> SandboxesAsync(string uid) =>
        [.. (await Containerd.Cri.Runtime.ListPodSandboxAsync(new() { Filter = new() { LabelSelector = { ["io.kubernetes.pod.uid"] = uid } } },
            cancellationToken: TestContext.Current.CancellationToken)).Items];

    /// <summary>The CRI containers labelled with the pod UID.</summary>
    internal async Task<List<Container>> ContainersAsync(string uid) =>
        [.. (await Containerd.Cri.Runtime.ListContainersAsync(new() { Filter = new() { LabelSelector = { ["io.kubernetes.pod.uid"] = uid } } },
            cancellationToken: TestContext.Current.CancellationToken)).Containers];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var t in new[] { _kubelet, _heartbeat })
            if (t is not null) try { await t; } catch (OperationCanceledException) { }
        _probes?.Dispose();
        if (_kubeletApi is not null) await _kubeletApi.DisposeAsync();
        if (_containerd is not null) await _containerd.DisposeAsync();
        _heartbeatCri?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        _api?.Dispose();
        _dir.Dispose();
    }
}

// The threshold rule of one probe: a result flips only after successThreshold/failureThreshold equal results in a row.
namespace Appliance.ClusterRuntime.Agent.Kubelet.Probes;

/// <summary>
/// Consecutive results of one probe. <see cref="Result"/> starts at the kind's initial value (readiness false,
/// liveness true, startup null = not yet known) and changes only after enough equal results in a row.
/// </summary>
internal sealed class ProbeCounter(int successThreshold, int failureThreshold, bool? initial)
{
    int _run;
    bool? _last;

    /// <summary>The current result.</summary>
    public bool? Result { get; private set; } = initial;

    /// <summary>Records one probe outcome; true when <see cref="Result"/> changed.</summary>
    public bool Record(bool success)
    {
        _run = _last == success ? _run + 1 : 1;
        _last = success;
        if (_run < (success ? successThreshold : failureThreshold) || Result == success) return false;
        Result = success;
        return true;
    }
}

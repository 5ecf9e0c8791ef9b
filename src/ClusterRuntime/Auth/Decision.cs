// An authorizer's answer: allow, or no opinion with a reason (no authorizer here denies outright).
namespace Appliance.ClusterRuntime.Auth;

/// <summary>Allowed, or not with the reason appended to the 403 message (empty when there is none to give).</summary>
public readonly record struct Decision(bool Allowed, string Reason)
{
    /// <summary>Allowed.</summary>
    public static readonly Decision Allow = new(true, "");

    /// <summary>Not allowed by this authorizer; the next one may still allow.</summary>
    public static Decision NoOpinion(string reason) => new(false, reason);
}

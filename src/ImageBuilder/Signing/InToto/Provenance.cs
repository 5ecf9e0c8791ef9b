// Build provenance of one output, written as a SLSA v1 predicate (slsa.dev/spec/v1.0/provenance).
using System.Text.Json;

namespace Appliance.ImageBuilder.Signing.InToto;

/// <summary>
/// What went into a build output. <c>appliance build</c> fills this in and hands it to
/// <see cref="Signer.SignFile"/>; the statement's predicate is written from it.
/// </summary>
public sealed record Provenance
{
    /// <summary>The predicate type we write.</summary>
    public const string PredicateType = "https://slsa.dev/provenance/v1";

    /// <summary>The buildType URI that says how to read our externalParameters.</summary>
    public const string BuildType = "https://appliance.dev/build/v1";

    /// <summary>The builder id.</summary>
    public const string BuilderId = "https://appliance.dev/builder/appliance";

    /// <summary>The site profile the output was built from (name and digest), if any.</summary>
    public ResourceDescriptor? Profile { get; init; }

    /// <summary>Every input: the OS image, the runtime, each preloaded container image. Written in this order.</summary>
    public IReadOnlyList<ResourceDescriptor> Inputs { get; init; } = [];

    /// <summary>The builder's version (the <c>appliance</c> informational version).</summary>
    public required string BuilderVersion { get; init; }

    /// <summary>SOURCE_DATE_EPOCH of the build, when set.</summary>
    public long? SourceDateEpoch { get; init; }

    /// <summary>The output's SBOM (name and digest), when one was made.</summary>
    public ResourceDescriptor? Sbom { get; init; }

    /// <summary>Checks digests and names; throws <see cref="InvalidDataException"/> naming the field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BuilderVersion))
            throw new InvalidDataException("builderVersion: must not be empty");
        Profile?.Validate("profile");
        for (int i = 0; i < Inputs.Count; i++)
            Inputs[i].Validate($"inputs[{i}]");
        Sbom?.Validate("sbom");
    }

    /// <summary>Writes the SLSA v1 predicate object.</summary>
    internal void WritePredicate(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartObject("buildDefinition");
        w.WriteString("buildType", BuildType);
        w.WriteStartObject("externalParameters");
        if (Profile != null)
        {
            w.WritePropertyName("profile");
            (Profile with { Kind = Profile.Kind ?? "profile" }).WriteTo(w);
        }
        w.WriteEndObject();
        w.WriteStartObject("internalParameters");
        if (SourceDateEpoch is { } epoch)
            w.WriteNumber("SOURCE_DATE_EPOCH", epoch);
        w.WriteEndObject();
        w.WriteStartArray("resolvedDependencies");
        foreach (var input in Inputs)
            input.WriteTo(w);
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("runDetails");
        w.WriteStartObject("builder");
        w.WriteString("id", BuilderId);
        w.WriteStartObject("version");
        w.WriteString("appliance", BuilderVersion);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartArray("byproducts");
        if (Sbom != null)
            (Sbom with { Kind = Sbom.Kind ?? "sbom", MediaType = Sbom.MediaType ?? "application/vnd.cyclonedx+json" }).WriteTo(w);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

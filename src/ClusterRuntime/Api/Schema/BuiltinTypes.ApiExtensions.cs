// The apiextensions.k8s.io/v1 part of the type table: CustomResourceDefinition (its schema is checked by CustomResources/StructuralSchema).
namespace Appliance.ClusterRuntime.Api.Schema;

static partial class BuiltinTypes
{
    /// <summary>
    /// JSONSchemaProps is recursive and open-ended, so <c>openAPIV3Schema</c> is a free object here; the structural
    /// schema rules (<see cref="CustomResources.StructuralSchema"/>) check it when a CRD is written.
    /// </summary>
    static readonly IReadOnlyDictionary<string, string> ApiExtensions = new Dictionary<string, string>
    {
        ["CustomResourceDefinition"] = "...TypeMeta metadata:ObjectMeta spec:CustomResourceDefinitionSpec status:CustomResourceDefinitionStatus",
        ["CustomResourceDefinitionSpec"] = """
            group:string names:CustomResourceDefinitionNames scope:string versions:[]CustomResourceDefinitionVersion
            conversion:CustomResourceConversion preserveUnknownFields:boolean
            """,
        ["CustomResourceDefinitionNames"] = "plural:string singular:string shortNames:[]string kind:string listKind:string categories:[]string",
        ["CustomResourceDefinitionVersion"] = """
            name:string served:boolean storage:boolean deprecated:boolean deprecationWarning:string
            schema:CustomResourceValidation subresources:CustomResourceSubresources
            additionalPrinterColumns:[]CustomResourceColumnDefinition selectableFields:[]SelectableField
            """,
        ["CustomResourceValidation"] = "openAPIV3Schema:object",
        ["CustomResourceSubresources"] = "status:object scale:CustomResourceSubresourceScale",
        ["CustomResourceSubresourceScale"] = "specReplicasPath:string statusReplicasPath:string labelSelectorPath:string",
        ["CustomResourceColumnDefinition"] = "name:string type:string format:string description:string priority:int32 jsonPath:string",
        ["SelectableField"] = "jsonPath:string",
        ["CustomResourceConversion"] = "strategy:string webhook:object",
        ["CustomResourceDefinitionStatus"] = "conditions:[]CustomResourceDefinitionCondition@type acceptedNames:CustomResourceDefinitionNames storedVersions:[]string",
        ["CustomResourceDefinitionCondition"] = "type:string status:string lastTransitionTime:time reason:string message:string",
    };
}

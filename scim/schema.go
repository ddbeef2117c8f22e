package scim

import "strings"

// Schema URNs of RFC 7643 and RFC 7644.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorURN         = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	ResourceTypeURN  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SPConfigURN      = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// Attribute types of RFC 7643 section 2.3.
const (
	String    = "string"
	Boolean   = "boolean"
	Decimal   = "decimal"
	Integer   = "integer"
	DateTime  = "dateTime"
	Reference = "reference"
	Complex   = "complex"
	Binary    = "binary"
)

// Attribute is an attribute definition (RFC 7643 section 7). Its JSON form is what /Schemas returns.
type Attribute struct {
	Name            string      `json:"name"`
	Type            string      `json:"type"`
	MultiValued     bool        `json:"multiValued"`
	Description     string      `json:"description,omitempty"`
	Required        bool        `json:"required"`
	CaseExact       bool        `json:"caseExact"`
	CanonicalValues []string    `json:"canonicalValues,omitempty"`
	Mutability      string      `json:"mutability"`
	Returned        string      `json:"returned"`
	Uniqueness      string      `json:"uniqueness"`
	ReferenceTypes  []string    `json:"referenceTypes,omitempty"`
	SubAttributes   []Attribute `json:"subAttributes,omitempty"`
	// Identity marks the attributes that say who a user is (userName, emails.value): they compare by
	// SameIdentity, in filters as everywhere else, whatever collation the column holding them has.
	Identity bool `json:"-"`
}

// Schema is a schema definition.
type Schema struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Attributes  []Attribute `json:"attributes"`
}

// Sub returns the sub-attribute with the given name, compared case-insensitively.
func (a *Attribute) Sub(name string) *Attribute {
	return findAttr(a.SubAttributes, name)
}

// Attr returns the attribute with the given name, compared case-insensitively.
func (s *Schema) Attr(name string) *Attribute {
	return findAttr(s.Attributes, name)
}

func findAttr(attrs []Attribute, name string) *Attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

// attr builds a single-valued, readWrite, default-returned attribute; the options adjust it.
func attr(name, typ string, opts ...func(*Attribute)) Attribute {
	a := Attribute{Name: name, Type: typ, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func multi(a *Attribute)        { a.MultiValued = true }
func required(a *Attribute)     { a.Required = true }
func caseExact(a *Attribute)    { a.CaseExact = true }
func readOnly(a *Attribute)     { a.Mutability = "readOnly" }
func immutable(a *Attribute)    { a.Mutability = "immutable" }
func writeOnly(a *Attribute)    { a.Mutability = "writeOnly"; a.Returned = "never" }
func serverUnique(a *Attribute) { a.Uniqueness = "server" }
func identity(a *Attribute)     { a.Identity = true }
func always(a *Attribute)       { a.Returned = "always" }
func describe(d string) func(*Attribute) {
	return func(a *Attribute) { a.Description = d }
}
func subs(s ...Attribute) func(*Attribute) {
	return func(a *Attribute) { a.SubAttributes = s }
}
func canonical(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.CanonicalValues = v }
}
func refs(r ...string) func(*Attribute) {
	return func(a *Attribute) { a.ReferenceTypes = r }
}

// multiValuedSubs are the sub-attributes of RFC 7643's plural attributes (emails, phoneNumbers, ...).
func multiValuedSubs(types ...string) func(*Attribute) {
	return subs(
		attr("value", String),
		attr("display", String),
		attr("type", String, canonical(types...)),
		attr("primary", Boolean),
	)
}

// identityValue marks the value sub-attribute of a plural attribute as an identity (emails).
func identityValue(a *Attribute) { a.Sub("value").Identity = true }

// UserSchemaDef is the core User schema of RFC 7643 section 4.1, described as "User Account".
func UserSchemaDef() Schema {
	return Schema{ID: UserSchema, Name: "User", Description: "User Account", Attributes: []Attribute{
		attr("userName", String, required, serverUnique, identity, describe("Unique identifier for the User, typically used to sign in.")),
		attr("name", Complex, subs(
			attr("formatted", String), attr("familyName", String), attr("givenName", String),
			attr("middleName", String), attr("honorificPrefix", String), attr("honorificSuffix", String),
		)),
		attr("displayName", String),
		attr("nickName", String),
		attr("profileUrl", Reference, refs("external")),
		attr("title", String),
		attr("userType", String),
		attr("preferredLanguage", String),
		attr("locale", String),
		attr("timezone", String),
		attr("active", Boolean),
		attr("password", String, writeOnly),
		attr("emails", Complex, multi, multiValuedSubs("work", "home", "other"), identityValue),
		attr("phoneNumbers", Complex, multi, multiValuedSubs("work", "home", "mobile", "fax", "pager", "other")),
		attr("ims", Complex, multi, multiValuedSubs("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
		attr("photos", Complex, multi, multiValuedSubs("photo", "thumbnail")),
		attr("addresses", Complex, multi, subs(
			attr("formatted", String), attr("streetAddress", String), attr("locality", String),
			attr("region", String), attr("postalCode", String), attr("country", String),
			attr("type", String, canonical("work", "home", "other")), attr("primary", Boolean),
		)),
		attr("groups", Complex, multi, readOnly, subs(
			attr("value", String, readOnly), attr("$ref", Reference, readOnly, refs("Group")),
			attr("display", String, readOnly), attr("type", String, readOnly, canonical("direct", "indirect")),
		)),
		attr("entitlements", Complex, multi, multiValuedSubs()),
		attr("roles", Complex, multi, multiValuedSubs()),
		attr("x509Certificates", Complex, multi, multiValuedSubs()),
	}}
}

// EnterpriseSchemaDef is the enterprise User extension of RFC 7643 section 4.3.
func EnterpriseSchemaDef() Schema {
	return Schema{ID: EnterpriseSchema, Name: "EnterpriseUser", Description: "Enterprise User", Attributes: []Attribute{
		attr("employeeNumber", String),
		attr("costCenter", String),
		attr("organization", String),
		attr("division", String),
		attr("department", String),
		attr("manager", Complex, subs(
			attr("value", String),
			attr("$ref", Reference, refs("User")),
			attr("displayName", String, readOnly),
		)),
	}}
}

// GroupSchemaDef is the core Group schema of RFC 7643 section 4.2.
func GroupSchemaDef() Schema {
	return Schema{ID: GroupSchema, Name: "Group", Description: "Group", Attributes: []Attribute{
		attr("displayName", String, required),
		attr("members", Complex, multi, subs(
			attr("value", String, immutable),
			attr("$ref", Reference, immutable, refs("User", "Group")),
			attr("display", String),
			attr("type", String, immutable, canonical("User", "Group")),
		)),
	}}
}
